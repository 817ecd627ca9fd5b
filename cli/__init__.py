"""Command-line tools beside the server (`dreamstage generate`)."""
