-- The login example's client: logs in as "hello" on server "sample" through the login
-- server (127.0.0.1:8001), then talks to the message server (127.0.0.1:8888): one request
-- whose answer it does not wait for, a reconnection, the same session again (the missed
-- answer comes back instead of a new call) and a new one. Run from the repository root:
--     ./3rd/lua/lua examples/login/client.lua [login port] [message server port]
assert(_VERSION == "Lua 5.5", "Use lua 5.5")
package.cpath = "luaclib/?.so"

local crypt = require "client.crypt"
local socket = require "client.socket"

local login_port, gate_port = ...
login_port = tonumber(login_port) or 8001
gate_port = tonumber(gate_port) or 8888

-- a connection with what was read from it but not used yet
local function open(port)
	return { fd = assert(socket.connect("127.0.0.1", port)), pending = "" }
end

-- waits for cut(pending) to give a piece: cut returns the piece and the rest, or nil
local function take(conn, cut)
	while true do
		local piece, rest = cut(conn.pending)
		if piece then
			conn.pending = rest
			return piece
		end
		local data = socket.recv(conn.fd)
		if data == "" then
			error "Server closed"
		elseif data then
			conn.pending = conn.pending .. data
		else
			socket.usleep(100)
		end
	end
end

local function cut_line(s)
	local nl = s:find("\n", 1, true)
	if nl then
		return s:sub(1, nl - 1), s:sub(nl + 1)
	end
end

local function cut_packet(s)
	if #s >= 2 then
		local n = string.unpack(">I2", s)
		if #s >= n + 2 then
			return s:sub(3, n + 2), s:sub(n + 3)
		end
	end
end

local function readline(conn) return take(conn, cut_line) end
local function readpacket(conn) return take(conn, cut_packet) end
local function writeline(conn, text) socket.send(conn.fd, text .. "\n") end
local function writepacket(conn, bytes) socket.send(conn.fd, string.pack(">s2", bytes)) end

------------------------------------------------------------------ the login server

local token = { server = "sample", user = "hello", pass = "password" }

local conn = open(login_port)
local challenge = crypt.base64decode(readline(conn))
local my_key = crypt.randomkey()
writeline(conn, crypt.base64encode(crypt.dhexchange(my_key)))
local secret = crypt.dhsecret(crypt.base64decode(readline(conn)), my_key)
print("sceret is ", crypt.hexencode(secret))

writeline(conn, crypt.base64encode(crypt.hmac64(challenge, secret)))
local plain = crypt.base64encode(token.user) .. "@" .. crypt.base64encode(token.server)
	.. ":" .. crypt.base64encode(token.pass)
writeline(conn, crypt.base64encode(crypt.desencode(secret, plain)))

local result = readline(conn)
print(result)
assert(result:sub(1, 3) == "200", "login refused")
socket.close(conn.fd)
local subid = crypt.base64decode(result:sub(5))
print("login ok, subid=", subid)

------------------------------------------------------------------ the message server

-- a request: its content, then its session (4 bytes)
local function send_request(c, text, session)
	writepacket(c, text .. string.pack(">I4", session))
	return text, session
end

-- a response: ok, its content, its session
local function parse_response(packet)
	local content, ok, session = string.unpack(">c" .. (#packet - 5) .. "BI4", packet)
	return ok ~= 0, content, session
end

local function connect_gate(index)
	local c = open(gate_port)
	local name = string.format("%s@%s#%s:%d", crypt.base64encode(token.user),
		crypt.base64encode(token.server), crypt.base64encode(subid), index)
	local mac = crypt.hmac64(crypt.hashkey(name), secret)
	writepacket(c, name .. ":" .. crypt.base64encode(mac))
	print(readpacket(c))
	return c
end

print("connect")
conn = connect_gate(1)
print("===>", send_request(conn, "echo", 0))	-- leaves before the answer comes
print("disconnect")
socket.close(conn.fd)

print("connect again")
conn = connect_gate(2)
print("===>", send_request(conn, "fake", 0))	-- session 0 again: the missed answer ("echo")
print("===>", send_request(conn, "again", 1))
print("<===", parse_response(readpacket(conn)))
print("<===", parse_response(readpacket(conn)))
print("disconnect")
socket.close(conn.fd)
