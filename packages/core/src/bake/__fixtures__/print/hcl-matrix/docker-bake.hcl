variable "VARIANTS" {
  default = ["alpine", "debian"]
}

target "lint" {
  name = "lint-${tool}"
  matrix = {
    tool = ["eslint", "prettier"]
  }
  target = tool
}

target "image" {
  name = "image-${variant}-${replace(version, ".", "-")}"
  matrix = {
    variant = VARIANTS
    version = ["1.0", "2.0"]
  }
  args = {
    VARIANT = variant
    VERSION = version
  }
  tags = ["example/image:${version}-${variant}"]
}
