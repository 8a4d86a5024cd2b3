-- http.url: splitting a request target and decoding a query string.

local url = {}

local function unhex(h)
	return string.char(tonumber(h, 16))
end

-- Percent-decoding as in application/x-www-form-urlencoded: '+' is a space.
local function unescape(s)
	s = s:gsub("+", " ")
	return (s:gsub("%%(%x%x)", unhex))
end

url.unescape = unescape

-- Returns the decoded path and the raw query ("" when there is none) of a request target.
function url.parse(u)
	local q = u:find("?", 1, true)
	local path, query
	if q then
		path, query = u:sub(1, q - 1), u:sub(q + 1)
	else
		path, query = u, ""
	end
	return unescape(path), query
end

-- Returns a table of the query's fields (decoded); a field given more than once gets a list.
function url.parse_query(q)
	local fields = {}
	for pair in q:gmatch "[^&]+" do
		local k, v = pair:match "^([^=]*)=(.*)$"
		if k then
			k, v = unescape(k), unescape(v)
			local old = fields[k]
			if old == nil then
				fields[k] = v
			elseif type(old) == "table" then
				old[#old + 1] = v
			else
				fields[k] = { old, v }
			end
		end
	end
	return fields
end

return url
