"""modelsteward."""
