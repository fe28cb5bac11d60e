"""kvqae.search"""
