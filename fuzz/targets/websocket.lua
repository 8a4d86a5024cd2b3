-- The WebSocket frame reader (http.wsframe.receive, RFC 6455): bytes from a peer give
-- messages, control frames and a close, or a violation carrying one of the close codes the
-- RFC names, or, when they run out, the socket error. Anything else is a reader bug. The
-- first input byte picks the side (its peer must mask or must not) and the size limit.
fuzz.lua_lines = true	-- the parser is Lua: its lines are the coverage
local frame = require "http.wsframe"
local OUT = {}	-- raised when the bytes run out

local function reader(input)
	local pos = 1
	return function(n)
		if n > #input - pos + 1 then
			error(OUT, 0)
		end
		local s = input:sub(pos, pos + n - 1)
		pos = pos + n
		return s
	end
end

local codes = { [1002] = true, [1007] = true, [1009] = true }

return function(input)
	if #input == 0 then
		return
	end
	local b = input:byte(1)
	local ws = {
		read = reader(input:sub(2)),
		mode = b & 1 == 0 and "server" or "client",
		max_size = (b & 2 == 0) and 64 or 65536,
	}
	for _ = 1, 1000 do
		local ok, what, data, kind = pcall(frame.receive, ws)
		if not ok then
			if what == OUT then
				return
			elseif frame.is_violation(what) then
				if not codes[what.code] then
					error("fuzz: violation with close code " .. tostring(what.code))
				end
				return
			end
			error("fuzz: receive raised " .. tostring(what))
		end
		if what == "message" then
			if type(data) ~= "string" or #data > ws.max_size or (kind ~= "text" and kind ~= "binary") then
				error("fuzz: bad message " .. tostring(kind))
			end
			if kind == "text" and not utf8.len(data) then
				error("fuzz: a text message that is not UTF-8")
			end
		elseif what == "close" then
			return
		elseif what ~= "ping" and what ~= "pong" then
			error("fuzz: unknown event " .. tostring(what))
		end
	end
end
