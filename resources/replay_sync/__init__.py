"""replay_sync's I/O: the replay bucket (`store`), the local folders (`folders`), the sync engine
that mirrors one into the other (`engine`, with its plain decisions in `plan`), and the one place
its resources are configured (`settings`)."""
