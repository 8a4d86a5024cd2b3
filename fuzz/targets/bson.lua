-- The BSON decoder: any bytes decode to a table or raise an error; what decodes encodes
-- again.
local bson = require "bson"

return function(input)
	local ok, doc = pcall(bson.decode, input)
	if ok and type(doc) == "table" then
		local fine, err = pcall(bson.encode, doc)
		if not fine and not tostring(err):find("depth", 1, true) then
			-- a decoded document may hold keys encode refuses (e.g. embedded NULs)
			if not tostring(err):find("key", 1, true) then
				error("fuzz: a decoded document does not encode again: " .. tostring(err))
			end
		end
	end
end
