"""S3 adapter for uploads, and the pure rules about file types and names it relies on."""
