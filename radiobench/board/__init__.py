"""The leaderboard: collecting result records into a board, and rendering it."""
