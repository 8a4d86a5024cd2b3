-- md5: the RFC 1321 test suite, HMAC-MD5 (RFC 2202), and the md5 cipher round trip.
local skynet = require "skynet"
local md5 = require "md5"
local check = require "check"

local function run(c)
	local rfc = {
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "a", "0cc175b9c0f1b6a831c399e269772661" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
		{ "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f" },
		{ string.rep("1234567890", 8), "57edf4a22be3c955ac49da2e2107b67a" },
	}
	for _, v in ipairs(rfc) do
		c:eq(md5.sumhexa(v[1]), v[2], "md5 of " .. #v[1] .. " bytes")
	end
	c:eq(#md5.sum("abc"), 16, "sum is 16 raw bytes")
	-- lengths around the padding boundary
	local edges = { [55] = "04364420e25c512fd958a70738aa8f72", [56] = "668a72d5ba17f08e62dabcafad6db14b",
		[63] = "7dc2ca208106a2f703567bdff99d8981", [64] = "c1bb4f81d892b2d57947682aeb252456",
		[65] = "1bc932052302d074bdec39795fe00cf6", [119] = "ab347a5f68c8a443cfcddc633f12c24f",
		[120] = "fb98667f98096de92620b64f46e1c5b5" }
	for n, want in pairs(edges) do
		c:eq(md5.sumhexa(string.rep("x", n)), want, "md5 of " .. n .. " x")
	end
	c:eq(md5.sumhexa(string.rep("a", 1000000)), "7707d6ae4e027c70eea2a935c2296f21", "md5 of a million a")
	-- RFC 2202 HMAC-MD5
	c:eq(md5.hmacmd5("Hi There", string.rep("\x0b", 16)), "9294727a3638bb1c13f48ef8158bfc9d", "hmac case 1")
	c:eq(md5.hmacmd5("what do ya want for nothing?", "Jefe"), "750c783e6ab0b503eaa86e310a5db738", "hmac case 2")
	c:eq(md5.hmacmd5(string.rep("\xdd", 50), string.rep("\xaa", 16)), "56be34521d144c88dbb8c733f0e8b3f6", "hmac case 3")
	c:eq(md5.hmacmd5("Test Using Larger Than Block-Size Key - Hash Key First", string.rep("\xaa", 80)),
		"6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd", "hmac case 6 (key longer than a block)")
	-- exor and the cipher
	c:eq(md5.exor("\1\2\3", "\3\2\1"), "\2\0\2", "exor")
	c:raises("lengths must be equal", "exor of unequal lengths", md5.exor, "a", "bc")
	local msg = string.rep("skynet bson md5 ", 10) .. "tail"
	local sealed = md5.crypt(msg, "secret", "seed1234")
	c:eq(sealed:byte(1), 8, "crypt starts with the seed length")
	c:eq(sealed:sub(2, 9), "seed1234", "then the seed")
	local want = "087365656431323334020cf12f1751056f06daf6cc564f7e741ff395666dedc927e5d317abf6dc48ed646049b62a"
		.. "d2e64c20a6dff79aeb8bd1896a0d2049f50f7eae292e7b65e5f65d8f65bead467fd176171b2a5fda71740e5110703481"
		.. "abaa15931d9a0bd370e4432733929f16930ffe538c914d11ced3f855d992eb63e249833359af0c74f24aaffb529c9294"
		.. "541b0f3406d7982e154ceed0d500fa860bb36ef5627fa6a34a4a8550ef1006"
	c:eq((sealed:gsub(".", function(ch) return string.format("%02x", ch:byte()) end)), want, "crypt's bytes")
	c:ok(sealed:sub(10) ~= msg and #sealed == #msg + 9, "cipher text differs and has the length of the text")
	c:eq(md5.decrypt(sealed, "secret"), msg, "decrypt(crypt(m)) == m")
	c:ok(md5.decrypt(sealed, "wrong") ~= msg, "wrong key does not decrypt")
	c:eq(md5.decrypt(md5.crypt("", "k"), "k"), "", "empty message")
	c:raises("invalid cyphered string", "bad cipher text", md5.decrypt, "\20abc", "k")
end

skynet.start(function()
	local c = check.new("md5")
	local ok, err = pcall(run, c)
	c:ok(ok, "test body: " .. tostring(err))
	c:done()
end)
