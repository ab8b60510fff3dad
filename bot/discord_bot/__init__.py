"""The Discord front end's parts; the bot itself and `run_discord` are in bot/discord_app.py.

logic.py    pure rules (custom ids, rate limit, question of the day timing), tested without Discord
store.py    the question-of-the-day table
embeds.py   how questions, grades and answers look
views.py    persistent buttons, the answer form, the confirmation view
errors.py   the one error handler
quiz.py, study.py, qotd.py, mock.py   the cogs: slash commands, buttons, messages (mock.py: the
            mock-interview nights of bot/mock)
"""
