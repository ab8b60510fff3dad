"""Group mock-interview nights.

night.py   the night as a pure state machine: lobby, timed rounds, reveal, scores (no discord)
store.py   its tables (migration 0003): nights, participants, rounds, answers, host roles
The Discord glue is bot/discord_bot/mock.py.
"""
