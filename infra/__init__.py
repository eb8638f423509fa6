"""Infrastructure: the local development stack (infra/local) and the cloud deployment."""
