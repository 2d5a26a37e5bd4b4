"""The conversation every chat platform shares: the action grammar, view models of what a labeler or manager
sees, the message catalog, and the conversation service adapters call. Nothing here knows Slack or Discord.
"""
