"""The reward model as an HTTP service for RL trainers (OpenRLHF's remote reward model, TRL through
`trainer.rewards.crowd_reward(url=...)`): dynamic batching, bounded inputs, and a hot swap to each newly
activated version. Nothing here imports `bot/` or a chat platform."""
