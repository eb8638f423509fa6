"""CDK stacks of the Philatelic IM cloud deployment."""
