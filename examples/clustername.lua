-- The cluster of examples/config.c1 and config.c2: node name = "host:port" (false: the node
-- is down). Options start with "__": __nowaiting = true makes a call to a node missing here
-- fail at once instead of waiting for a cluster.reload that names it.
__nowaiting = true

db = "127.0.0.1:2528"
db2 = "127.0.0.1:2529"
