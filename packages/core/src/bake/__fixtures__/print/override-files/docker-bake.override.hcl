variable "TAG" {
  default = "override"
}
target "app" {
  args = {
    B = "from-override"
  }
  cache-from = ["type=registry,ref=example/cache:override"]
}
