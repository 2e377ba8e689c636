group "default" {
  targets = ["app"]
}

target "base" {
  dockerfile = "base.Dockerfile"
  tags       = ["base:1"]
  output     = ["type=docker"]
}

target "app" {
  contexts = {
    base  = "target:base"
    tools = "target:tools"
  }
  tags = ["app:1"]
}

target "tools" {
  contexts = { base = "target:base" }
  target   = "tools"
}
