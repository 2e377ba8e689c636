variable "BASE" {
  default = "stagecraft/busybox:latest"
}

target "_common" {
  dockerfile-inline = <<EOT
FROM ${BASE}
RUN echo common
EOT
}

target "app" {
  inherits = ["_common"]
  tags     = ["app:1"]
}

target "tool" {
  dockerfile        = "ignored.Dockerfile"
  dockerfile-inline = "FROM scratch\nCOPY tool /\n"
}
