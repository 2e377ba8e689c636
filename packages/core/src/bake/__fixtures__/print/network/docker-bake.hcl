target "app" {
  network  = "host"
  no-cache = true
}
