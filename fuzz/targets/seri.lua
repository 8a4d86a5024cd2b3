-- skynet.unpack: any bytes either decode or raise an error; what decodes packs again.
local unpack, pack = fuzz.unpack, fuzz.pack

return function(input)
	local decoded = table.pack(pcall(unpack, input))
	if decoded[1] then
		local ok, err = pcall(pack, table.unpack(decoded, 2, decoded.n))
		if not ok and not tostring(err):find("depth", 1, true) then
			error("fuzz: a decoded value does not pack again: " .. tostring(err))
		end
	end
end
