-- A bootstrap whose main chunk fails: the host logs "lua loader error", the service exits,
-- and the node, which cannot start, exits non-zero.
error("tiny_fail breaks in its main chunk")
