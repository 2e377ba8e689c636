variable "NAMES" {
  default = ["alpha", "beta", "gamma"]
}
target "f" {
  args = {
    JOIN      = join(",", NAMES)
    UPPER     = upper("abc")
    LOWER     = lower("ABC")
    REPLACE   = replace("1.2.3", ".", "-")
    REGEX     = regex_replace("v1.2.3", "^v", "")
    SUBSTR    = substr("abcdef", 1, 3)
    TRIM      = trimprefix(trimsuffix("--x--", "--"), "--")
    FORMAT    = format("%s-%03d", "n", 7)
    LENGTH    = length(NAMES)
    CONTAINS  = contains(NAMES, "beta")
    ELEMENT   = element(NAMES, 4)
    COALESCE  = coalesce("", "fallback")
    JSON      = jsonencode({ a = 1 })
    SPLIT     = join("|", split("/", "a/b/c"))
    DISTINCT  = join(",", distinct(concat(NAMES, ["alpha"])))
    FOR       = join(",", [for n in NAMES : upper(n) if n != "beta"])
    MAX       = max(3, 9, 4)
    LOOKUP    = lookup({ k = "v" }, "missing", "default")
    TRY       = try(NAMES[10], "out-of-range")
    SHA       = substr(sha256("stagecraft"), 0, 12)
    BASE64    = base64encode("hi")
    CONDITION = length(NAMES) > 2 ? "many" : "few"
    KEYS      = join(",", keys({ b = 1, a = 2 }))
    HEREDOC   = <<-EOT
      line one
      line two
    EOT
  }
}
