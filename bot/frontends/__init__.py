"""Front ends: thin layers that turn input into calls on the tutor and results into output."""
