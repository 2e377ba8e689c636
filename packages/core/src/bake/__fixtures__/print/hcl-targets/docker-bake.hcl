variable "REPO" {
  default = "example/app"
}
variable "VERSION" {
  default = "1.2.3"
}

function "tag" {
  params = [name, version]
  result = ["${REPO}-${name}:${version}", "${REPO}-${name}:latest"]
}

group "default" {
  targets = ["app", "test"]
}

group "all" {
  targets = ["default", "docs"]
}

target "_common" {
  context    = "."
  dockerfile = "Dockerfile"
  args = {
    VERSION = VERSION
    COMMON  = "yes"
  }
  labels = {
    "org.opencontainers.image.source" = "https://example.invalid/app"
  }
  cache-from = ["type=registry,ref=example/cache:common"]
}

target "app" {
  inherits   = ["_common"]
  target     = "runtime"
  tags       = tag("app", VERSION)
  platforms  = ["linux/amd64"]
  cache-from = ["type=registry,ref=example/cache:app"]
  cache-to   = ["type=inline"]
  output     = ["type=docker"]
  secret     = ["id=token,env=TOKEN"]
  pull       = true
  args = {
    EXTRA = "1"
  }
}

target "test" {
  inherits = ["_common"]
  target   = "test"
  no-cache = true
  contexts = {
    assets = "./assets"
  }
}

target "docs" {
  context    = "docs"
  dockerfile = "docs.Dockerfile"
  output     = ["type=local,dest=out/docs"]
}
