-- The login example (examples/login/): a login server on 127.0.0.1:8001 and a message
-- server "sample" on port 8888. From the repository root:
--     ./skynet examples/config.login
-- and in another terminal:
--     ./3rd/lua/lua examples/login/client.lua
include "config"
start = "main"
luaservice = root.."service/?.lua;"..root.."examples/login/?.lua"
