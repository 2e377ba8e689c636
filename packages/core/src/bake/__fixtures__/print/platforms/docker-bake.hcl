target "_platforms" {
  platforms = ["linux/amd64", "linux/arm64"]
}

target "multi" {
  inherits = ["_platforms"]
}

target "arm" {
  inherits  = ["_platforms"]
  platforms = ["linux/arm64"]
}

target "matrix" {
  name      = "matrix-${replace(p, "/", "-")}"
  matrix    = { p = ["linux/amd64", "linux/arm/v7"] }
  platforms = [p]
}
