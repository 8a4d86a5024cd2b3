-- md5: md5.core (sum, exor, crypt, decrypt) plus hex digests and HMAC-MD5 (RFC 2104).
local md5 = require "md5.core"

local function tohex(bytes)
	return (bytes:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- md5.sumhexa(s): the digest of s as 32 lowercase hex digits
function md5.sumhexa(s)
	return tohex(md5.sum(s))
end

local BLOCK = 64

-- the key xored with a byte, padded to a whole block with that byte
local function keypad(key, byte)
	local out = {}
	for i = 1, BLOCK do
		out[i] = string.char((key:byte(i) or 0) ~ byte)
	end
	return table.concat(out)
end

-- md5.hmacmd5(data, key): HMAC-MD5 of data under key, as hex
function md5.hmacmd5(data, key)
	if #key > BLOCK then
		key = md5.sum(key)
	end
	local inner = md5.sum(keypad(key, 0x36) .. data)
	return md5.sumhexa(keypad(key, 0x5c) .. inner)
end

return md5
