variable "TAG" {
  default = "base"
}
target "app" {
  tags = ["example/app:${TAG}"]
  args = {
    A = "from-main"
    B = "from-main"
  }
  cache-from = ["type=registry,ref=example/cache:main"]
}
