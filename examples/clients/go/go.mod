// The module keeps its first name (it lived under test/clients/) until the branches that add files here are merged.
module kafka-gateway/test/clients/go

go 1.26

require github.com/coder/websocket v1.8.15
