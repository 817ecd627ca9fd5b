"""NiceGUI pages and components, bound to session state."""
