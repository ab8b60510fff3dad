"""The shared vocabulary: question ids, enums, results and errors. Imports nothing else of bot."""
