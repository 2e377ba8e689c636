target "pushed" {
  output = ["type=image,name=127.0.0.1:5000/x:t,push=true"]
}
target "reg" {
  output = ["type=registry,name=127.0.0.1:5000/y:1"]
}
target "both" {
  tags   = ["127.0.0.1:5000/both:tag"]
  output = ["type=image,name=127.0.0.1:5000/both:name,push=true"]
}
target "multi" {
  output = ["type=image,\"name=127.0.0.1:5000/m:1,127.0.0.1:5000/m:2\""]
}
