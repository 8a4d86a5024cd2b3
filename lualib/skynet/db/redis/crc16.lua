-- skynet.db.redis.crc16: the CRC-16 of Redis Cluster key slots (CRC-16/XMODEM: polynomial
-- 0x1021, initial value 0, no reflection; "123456789" gives 0x31c3).
-- Returns the function crc16(s) -> integer in [0, 65535].

local byte = string.byte

-- The table is computed here from the polynomial, one entry per byte value.
local step = {}
for b = 0, 255 do
	local c = b << 8
	for _ = 1, 8 do
		c = c << 1
		if c & 0x10000 ~= 0 then
			c = c ~ 0x1021
		end
	end
	step[b] = c & 0xffff
end

return function(s)
	local crc = 0
	for i = 1, #s do
		crc = ((crc << 8) & 0xffff) ~ step[(crc >> 8) ~ byte(s, i)]
	end
	return crc
end
