"""Reading reports, splitting them by their own headings, and keeping them in the index."""
