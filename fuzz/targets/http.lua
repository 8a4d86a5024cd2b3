-- The HTTP/1.1 request parser (http.httpd.read_request, RFC 9112): bytes from a client give
-- a request (200), a status to answer with (400, 413, 431, ...), or, when they run out, the
-- socket error. Any other error is a parser bug. The first input byte picks how the bytes
-- arrive: in pieces of 1 to 16 bytes, or all at once.
fuzz.lua_lines = true	-- the parser is Lua: its lines are the coverage
package.preload["skynet"] = function() return { error = function() end } end
package.preload["skynet.socket"] = function() return {} end
local httpd = require "http.httpd"
local sockethelper = require "http.sockethelper"

local function reader(input, piece)
	local pos = 1
	return function(sz)
		local left = #input - pos + 1
		if sz == nil then
			if left <= 0 then
				error(sockethelper.socket_error)
			end
			local n = math.min(left, piece)
			local s = input:sub(pos, pos + n - 1)
			pos = pos + n
			return s
		end
		if sz > left then
			error(sockethelper.socket_error)
		end
		local s = input:sub(pos, pos + sz - 1)
		pos = pos + sz
		return s
	end
end

return function(input)
	if #input == 0 then
		return
	end
	local piece = input:byte(1) % 17
	if piece == 0 then
		piece = #input
	end
	local code, what = httpd.read_request(reader(input:sub(2), piece), 4096)
	if code == nil then
		if what ~= sockethelper.socket_error then
			error("fuzz: read_request failed with " .. tostring(what))
		end
	elseif math.type(code) ~= "integer" or not httpd.status_message[code] then
		error("fuzz: read_request gave the status " .. tostring(code))
	end
end
