module example.com/webhooks/go_receiver

go 1.19
