variable "TAG" {
  default = "latest"
}
variable "REPLICAS" {
  default = 1
}
variable "PUSH" {
  default = false
}
variable "UNSET" {
}
target "app" {
  tags = ["example/app:${TAG}"]
  args = {
    NEXT  = REPLICAS + 1
    PUSH  = PUSH ? "push" : "load"
    UNSET = "[${UNSET}]"
  }
}
