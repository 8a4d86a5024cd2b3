-- A service whose main chunk fails: the host logs "lua loader error" and the service exits.
error("tiny_fail breaks in its main chunk")
