import { isValidGun } from "./gun.js";

describe("isValidGun", () => {
  it.each([
    "127.0.0.1:5000/library/app",
    "example.com/fixture/app",
    "localhost/a/b/c",
    "reg.io/p/my-app_v2.1",
  ])("accepts %s", (gun) => expect(isValidGun(gun)).toBe(true));

  it.each([
    ["no registry host", "library/app"],
    ["no repository under the project", "example.com/app"],
    ["upper case", "example.com/Library/app"],
    ["an empty component", "example.com/a//b"],
    ["a dot-dot component", "example.com/a/../b"],
    ["a trailing slash", "example.com/a/b/"],
    ["more than 255 characters", `example.com/a/${"b".repeat(300)}`],
  ])("refuses %s", (_why, gun) => expect(isValidGun(gun)).toBe(false));
});
