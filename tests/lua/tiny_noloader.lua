-- Never runs: its config names a loader file that does not exist.
print("TEST FAIL the missing loader ran a service")
