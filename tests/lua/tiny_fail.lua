error("this service fails in its main chunk")
