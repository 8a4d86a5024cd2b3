-- tinyloader.lua does not run preload files; the host only passes the name on.
error("tiny_preload.lua is not meant to run")
