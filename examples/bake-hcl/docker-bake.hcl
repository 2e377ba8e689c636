# Three targets of one Dockerfile (api, api-test share its base and build stages) and a matrix of
# another (worker-fast, worker-safe), built as one run by `stagecraft bake`.
variable "TAG" {
  default = "dev"
}

variable "REPO" {
  default = "stagecraft-example"
}

function "image" {
  params = [name]
  result = ["${REPO}/${name}:${TAG}"]
}

group "default" {
  targets = ["api", "api-test", "worker"]
}

target "_common" {
  args = {
    VERSION = TAG
  }
  labels = {
    "org.opencontainers.image.version" = TAG
  }
}

target "api" {
  inherits = ["_common"]
  context  = "api"
  target   = "runtime"
  tags     = image("api")
}

target "api-test" {
  inherits = ["_common"]
  context  = "api"
  target   = "test"
  tags     = image("api-test")
}

target "worker" {
  inherits = ["_common"]
  name     = "worker-${mode}"
  matrix = {
    mode = ["fast", "safe"]
  }
  context = "worker"
  args = {
    MODE = mode
  }
  tags = image("worker-${mode}")
}
