// Asks the backend for a greeting and shows it.
document.getElementById("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = new FormData(event.target).get("name");
  const response = await fetch(`/api/greet?name=${encodeURIComponent(name)}`);
  document.getElementById("answer").textContent = (await response.json()).greeting;
});
