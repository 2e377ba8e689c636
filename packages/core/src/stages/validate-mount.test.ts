import { describe, expect, it } from "vitest";
import { validateMount } from "./validate-mount.js";

describe("validateMount (BuildKit parseMount at dispatch)", () => {
  it.each([
    ["type=cache,target=/root/.cache,sharing=locked,id=x,mode=0755,uid=1000,gid=1000"],
    ["target=/src,rw"],
    ["type=bind,from=build,source=/out,target=/in,readonly=true"],
    ["type=secret,id=token,required"],
    ["type=ssh,required=true"],
    ["type=tmpfs,target=/t,size=64m"],
    ["type=secret,id=token,env=TOKEN"],
    ["type=$T,target=/x"],
  ])("accepts %s", (spec) => {
    expect(validateMount(spec.split(","))).toBeUndefined();
  });

  it.each([
    ["type=foo", 'unsupported mount type "foo"'],
    ["type=cahce", 'unsupported mount type "cahce" (did you mean cache?)'],
    ["targte=/x", "unexpected key 'targte' in 'targte=/x' (did you mean target?)"],
    ["x=1", "unexpected key 'x' in 'x=1' (did you mean id?)"],
    ["bogus=1", "unexpected key 'bogus' in 'bogus=1'"],
    ["foo", "invalid field 'foo' must be a key=value pair"],
    ["required", "unexpected key 'required' for mount type 'bind'"],
    ["type=cache,size=1m", "unexpected key 'size' for mount type 'cache'"],
    ["type=tmpfs,size=lots", "invalid value for size: lots"],
    ["ro=maybe", "invalid value for ro: maybe"],
    ["type=cache,sharing=everyone", 'unsupported sharing value "everyone"'],
    ["type=cache,mode=9", "invalid value 9 for mode"],
    ["type=cache,uid=-1", "invalid value -1 for uid"],
    ["type=bind,uid=1", 'uid not allowed for "bind" type mounts'],
    ["type=secret,from=x,id=a", "secret mount should not have a from"],
    ["type=secret,sharing=shared,id=a", "secret mount should not define sharing"],
    ["type=secret", "invalid secret mount. one of source, target required"],
    ["type=secret,source=a,id=b", "both source and id can't be set"],
    ["type=bind,sharing=shared", "invalid cache sharing set for bind mount"],
  ])("rejects %s", (spec, message) => {
    expect(validateMount(spec.split(","))).toBe(message);
  });
});
