target "app" {
  tags      = ["example/app:1"]
  platforms = ["linux/amd64"]
  args = {
    A = "1"
  }
}
target "api" {
  tags = ["example/api:1"]
}
