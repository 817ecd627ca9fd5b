"""What the server does, independent of how it is asked: sessions, access, files, downloads, audio."""
