"""The database: one `Database` owning the engine and the migrations, one store per feature."""
