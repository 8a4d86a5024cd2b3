-- The sproto schemas of the example: proto.c2s (client to server: handshake, get, set,
-- quit) and proto.s2c (server to client: heartbeat). Shared by examples/client.lua and
-- examples/protoloader.lua.
local sprotoparser = require "sprotoparser"

-- every packet starts with this header: a request's type (its tag) and its session
local header = ".package { type 0 : integer  session 1 : integer }\n"

local proto = {}

-- the client's requests; "set" and "quit" have no response
proto.c2s = sprotoparser.parse(header .. [[
handshake 1 { response { msg 0 : string } }
get 2 {
	request { what 0 : string }
	response { result 0 : string }
}
set 3 { request { what 0 : string  value 1 : string } }
quit 4 {}
]])

-- the server's requests
proto.s2c = sprotoparser.parse(header .. "heartbeat 1 {}\n")

return proto
