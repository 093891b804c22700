"""HTTP shared by both faces: routing, who is calling, refusals (401/429), the public URL."""
